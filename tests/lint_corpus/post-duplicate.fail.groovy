pipeline {
    agent any
    post {  // <-- post-duplicate (Jenkins's line)
        always { echo 'x' }
        always { echo 'y' }  // <-- post-duplicate
    }
    stages {
        stage('build') {
            steps {
                echo 'hello'
            }
        }
    }
}
