pipeline {
    agent any
    stages {
        stage('build') {
            when {
                environment name: 'DEPLOY', value: 'yes'
                equals expected: 2, actual: currentBuild.number
            }
            steps { echo 'x' }
        }
    }
}
