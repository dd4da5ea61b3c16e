pipeline {
    agent any
    stages {
        stage('build') {
            when {
                beforeAgent true
                branch 'main'
            }
            steps { echo 'x' }
        }
    }
}
